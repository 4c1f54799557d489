# The operators' SSH bastion of a replication-manager site (lab host
# bastion1), enforcing: only operators may reach it, on 22/tcp.
policy     ../replication-manager.policy
inventory  ../examples/replication-manager.inventory
role       bastion
mode       enforce
