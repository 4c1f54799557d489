# The replication-manager host of a replication-manager site (lab host
# repman1), audited.  Tags match db-host.profile (extra port, terminal) plus
# a second repman instance for arbitration.
policy     ../replication-manager.policy
inventory  ../examples/replication-manager.inventory
role       repman
tag        extra-port
tag        terminal
tag        arbitration
mode       audit
egress     audit
