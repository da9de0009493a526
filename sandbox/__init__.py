"""The simulated ACP cluster and Slack workspace that the tests and `regclean demo` run against."""
