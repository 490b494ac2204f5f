"""Haven: secure intake for exile networks.

Requests are sealed on the requester's device to the network's partner
organisations; nothing in this package ever needs a key that opens them,
except the partner toolkit, which runs on the partner's own machine.
"""
