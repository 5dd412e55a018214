from bento.cli import main

main()
