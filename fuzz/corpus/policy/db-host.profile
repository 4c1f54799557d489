policy     ../replication-manager.policy
inventory  "../examples/replication-manager.inventory"
role       db,repman
tag        galera
tag        galera, extra-port
mode       enforce
