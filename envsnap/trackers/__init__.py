"""What envsnap's experiment-tracker integrations share: the view of a capture (`view`) and the
plumbing of logging and fetching it back (`common`). The integrations themselves are
`envsnap.mlflow`, `envsnap.wandb` and `envsnap.aim`, each importing its library only when called.
"""
