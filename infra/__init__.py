"""Infrastructure outside template.yaml: the data stack (data.yaml) and the deploy helpers."""
