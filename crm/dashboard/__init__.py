"""The home page and (later) the data kanban. Reads only; never writes."""
