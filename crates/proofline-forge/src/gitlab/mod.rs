//! GitLab through reqwest: commit signatures, protected branches, push rules and approvals.
