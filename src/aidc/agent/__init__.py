"""The node agent: registers its node, heartbeats telemetry, and runs the job parts the server assigns."""
