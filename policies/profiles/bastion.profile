# The operators' SSH bastion of a replication-manager site (lab host
# bastion1), enforcing both ways: only operators may reach it, on 22/tcp,
# and it may only open SSH sessions to the DB and proxy hosts.
policy     ../replication-manager.policy
inventory  ../examples/replication-manager.inventory
role       bastion
mode       enforce
egress     enforce
