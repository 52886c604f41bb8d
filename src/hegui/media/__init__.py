"""Media inspection: the `[media]` policy, OCR of images (text drawn into a picture goes through the
same checks as typed text), and the rules of image edits (DS-02). docs/gateway.md and docs/persons.md."""
