#!/bin/sh
# The smoke test of a deployment: SMOKE ENVIRONMENT VERSION. A real one
# asks the environment's health endpoint which version answers.
test -n "$2" && echo "$1 answers with $2"
