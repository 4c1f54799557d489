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
# Count and judge what the host sends too, and let replies to its own
# connections through as replies; never drop on the way out.
egress     audit
