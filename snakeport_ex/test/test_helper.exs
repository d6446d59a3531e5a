# Distributed from the start (every test file sees the same node, whatever
# the order): the distribution tests' :peer nodes need it, and a node that
# cannot start distribution fails them rather than skipping them.
SnakePort.TestCluster.start!()
ExUnit.start()
