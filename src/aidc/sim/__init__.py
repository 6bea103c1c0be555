"""Digital twin: replay job traces through the shared scheduler and measure the outcome."""
