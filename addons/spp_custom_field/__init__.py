# Administrator-defined fields and computed indicators on registrants.
