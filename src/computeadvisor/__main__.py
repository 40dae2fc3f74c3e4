from computeadvisor.app.cli import main

main()
