"""Make-up payments (补款): an extra amount an order owes after it was signed, approved through a chain."""
