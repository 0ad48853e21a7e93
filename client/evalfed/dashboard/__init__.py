"""A local web dashboard over one node: the comparison matrix with interval charts, model and
task pages, record pages, members and partners, every call signed with the institute's key."""
