"""The shared kernel every layer uses: one home for the database, settings, Vietnamese text and
citizen-facing wording (issue 15). It imports nothing from catalog/, dossiers/, actions/, bot/,
console/ or training/, so any of them can depend on it without a cycle."""
