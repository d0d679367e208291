"""Program to StagedIR to AdjointIR: staging one gate per stage (with each
stage's shape), names, the optimization passes, and the reverse pass."""
