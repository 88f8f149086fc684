# Programs: eligibility rules, enrolment, deduplication, cycles and approvals.
