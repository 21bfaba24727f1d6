"""The terminal chat: the third adapter, proof that the flows are platform-neutral."""
