# A monitored MariaDB server of a replication-manager site (lab host db1),
# audited: a Galera cluster with extra_port = 3307 and repman's terminal
# feature switched on.
policy     ../replication-manager.policy
inventory  ../examples/replication-manager.inventory
role       db
tag        galera
tag        extra-port
tag        terminal
mode       audit
