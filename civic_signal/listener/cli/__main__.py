from civic_signal.listener.cli import main

main()
