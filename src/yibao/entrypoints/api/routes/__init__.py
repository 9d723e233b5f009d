"""One router module per resource; `ROUTERS` lists them in the order the docs show them."""
