"""Model files: base encoders from their packages (verified by hash) and our fine-tuned artifacts."""
