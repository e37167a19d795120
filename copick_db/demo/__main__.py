"""``python -m copick_db.demo DIR``: build the demo project and show the migration."""

from copick_db.demo.project import main

main()
