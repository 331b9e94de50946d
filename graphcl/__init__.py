"""graphcl: contrastive learning on graphs."""
