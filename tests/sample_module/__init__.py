"""A tiny module that exercises the whole manifest contract; installed only by the contract tests."""
