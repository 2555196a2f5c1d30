"""Operations tooling that is not deployed: the dashboard's one panel definition and its renderers."""
