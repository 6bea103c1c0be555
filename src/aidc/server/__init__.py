"""The control plane: FastAPI routers (thin) over services (logic) over SQLAlchemy models."""
