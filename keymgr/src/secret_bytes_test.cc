// Placeholder: tests in progress.
