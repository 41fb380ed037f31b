from judgeloop.cli import main

main()
