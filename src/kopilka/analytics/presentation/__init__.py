"""What a result of the analytics looks like: tables (`tables`: columns, rows, CSV / JSON / XLSX) and inline
SVG charts (`charts`). Pure: no database, and no other part of the analytics."""
