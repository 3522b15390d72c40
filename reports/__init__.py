"""What digests and exports look like: texts from the catalogues, a PNG chart, XLSX and CSV
files. Functions of figures to text or bytes; no Telegram, no database."""
