"""The console's views, one module per task: publishing (submissions), takedowns, versions, fleet and reports."""
