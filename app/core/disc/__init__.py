"""What a disc is and where its sectors come from: sources, size and layout, the demo disc."""
