#!/usr/bin/env bash
# Placeholder until the store layer lands: runs the command as it is.
exec "$@"
