"""The data kanban (issue 22, DESIGN §10): summary tables maintained in the writers' transactions, the
figures of a window against the previous one, the page, the API and the digest."""
