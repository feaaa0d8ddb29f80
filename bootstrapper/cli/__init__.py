"""The bootstrapper's `plan` subcommands: execute (execute.py, with the run wiring in session.py) and
tune (tune.py). The dispatcher is planner/cli; library code never imports these modules."""
