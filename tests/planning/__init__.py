"""Tests of the capacity planner (aidc.planning)."""
