# Registry of individuals and groups (households) for the SP-MIS.
