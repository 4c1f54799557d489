policy a.policy
policy b.policy
role BAD
mode sideways
tag
key value
