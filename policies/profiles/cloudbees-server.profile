# A clustered CloudBees Flow server on its built-in database (lab host
# flow1), audited.
policy     ../cloudbees-cd.policy
inventory  ../examples/cloudbees-cd.inventory
role       server
tag        clustered
tag        builtin-db
mode       audit
