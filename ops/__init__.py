"""Operations: the CLI, the embedded broker, metrics, dashboards and benchmarks."""
