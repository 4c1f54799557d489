# A ThoughtSpot cluster node (lab host node1), audited.
policy     ../thoughtspot.policy
inventory  ../examples/thoughtspot.inventory
role       node
mode       audit
