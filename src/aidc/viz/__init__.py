"""Pictures of aidc's models (floor plans, elevations); matplotlib is imported only when drawing."""
