"""Platform settlements: one transfer covering several orders of a store, recorded once and split over
its orders as one collection per line."""
