<?php
// Seeds a postfixadmin 3.3 database through postfixadmin's own Handler classes, as its web UI
// and CLI do. Usage (dbconfig.inc.php on the include_path, PGPORT set):
//   php -d include_path=DIR seed.php ROWS.json
// ROWS.json: a list of
//   ["config", KEY, VALUE]             a $CONF setting (e.g. "encrypt")
//   [HANDLER, ID, {values}]            new object: DomainHandler, MailboxHandler, AliasHandler, ...
//   ["edit", HANDLER, ID, {values}]    change an existing object
//   ["vacation", EMAIL, SUBJECT, BODY] switch on an auto-reply (VacationHandler::set_away)
// Exits 1 naming the object and postfixadmin's messages on the first failure.
define('POSTFIXADMIN_CLI', 1);
require '/usr/share/postfixadmin/common.php';

function conf($key, $value) {
    global $CONF;
    $CONF[$key] = $value; // pacrypt() reads the global, the handlers read Config
    Config::write($key, $value);
}

function store($class, $new, $id, $values) {
    $h = new $class($new);
    if (!$h->init($id) || !$h->set($values) || !$h->save()) {
        fwrite(STDERR, "$class $id: " . json_encode($h->errormsg) . "\n");
        exit(1);
    }
}

conf('emailcheck_resolve_domain', 'NO'); // no DNS in tests
conf('quota', 'YES');
conf('domain_quota', 'YES');
conf('vacation', 'YES');
conf('fetchmail', 'YES');

foreach (json_decode(file_get_contents($argv[1]), true) as $r) {
    if ($r[0] === 'config') {
        conf($r[1], $r[2]);
    } elseif ($r[0] === 'edit') {
        store($r[1], 0, $r[2], $r[3]);
    } elseif ($r[0] === 'vacation') {
        $v = new VacationHandler($r[1]);
        if (!$v->set_away($r[2], $r[3], 0, '2000-01-01', '2038-01-01')) {
            fwrite(STDERR, "vacation $r[1] failed\n");
            exit(1);
        }
    } else {
        store($r[0], 1, $r[1], $r[2]);
    }
}
echo "seeded\n";
