# Audit plans, samples and findings arrive with the senior workspace.
